"""The files of deploy/ turned into what a test can run on loopback: the units' ExecStart lines with the
instance and the paths substituted (nothing else: the command is the unit's own), deploy/haiqiao.env read
as systemd reads it, and the nginx site rendered with the test's ports, certificate and log directory."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_FILE = DEPLOY / "haiqiao.env"
SITE = DEPLOY / "nginx" / "haiqiao.conf"
# The deployment's paths (README "Deploying for a bureau") and what stands for them here.
VENV_BIN = "/opt/haiqiao/venv/bin/"
SITE_STATIC = "/opt/haiqiao/venv/lib/python3.11/site-packages/server/web/static/"
# The sample site names its workers after a machine called haiqiao (%l, the short host name).
HOSTNAME = "haiqiao"
# Debian's package (make browser installs it); /usr/sbin is not on every user's PATH.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
APP_PORTS = (8000, 8001)
WORKER_PORTS = (8101, 8102)


def env_file() -> dict[str, str]:
    """deploy/haiqiao.env's active lines (quotes removed as systemd removes them)."""
    return {k: v for k, v in dotenv_values(ENV_FILE).items() if v is not None}


def unit_command(unit: str, instance: int, env: Mapping[str, str]) -> list[str]:
    """The unit's ExecStart as systemd would run it for ``instance``: %i, %l and ${VAR} expanded, the
    venv's bin directory being this test's."""
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    command = line.removeprefix("ExecStart=").replace("%i", str(instance)).replace("%l", HOSTNAME)
    command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], command)
    argv = shlex.split(command)
    assert argv[0].startswith(VENV_BIN), argv
    return [str(Path(sys.executable).parent / argv[0].removeprefix(VENV_BIN)), *argv[1:]]


def render_site(ports: Mapping[int, int], tls_port: int, http_port: int, cert: Path, key: Path, logs: Path) -> str:
    """deploy/nginx/haiqiao.conf with loopback ports, the test's certificate, logs and static files. Every
    replaced text must be there: a site that changed shape fails here, not in a confusing way later."""
    from server.web import STATIC

    text = SITE.read_text(encoding="utf-8")
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/letsencrypt/live/class.example-county.edu.cn/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/class.example-county.edu.cn/privkey.pem": str(key),
        SITE_STATIC: f"{STATIC}/",
        "/var/log/nginx/": f"{logs}/",
        "root /var/www/html;": f"root {logs};",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/haiqiao.conf no longer has {old!r}"
        text = text.replace(old, new)
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)
    for old_port, new_port in ports.items():
        assert re.search(rf"\b{old_port}\b", text), f"deploy/nginx/haiqiao.conf no longer uses port {old_port}"
        text = re.sub(rf"\b{old_port}\b", str(new_port), text)
    return text


def nginx_main(prefix: Path, site: Path) -> str:
    """The main configuration around the site, as Debian's /etc/nginx/nginx.conf includes sites-enabled."""
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in kinds)
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers read this test's private directory
    return f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
{temp}
    include {site};
}}
"""


def start_nginx(prefix: Path, site_text: str) -> subprocess.Popen[bytes]:
    prefix.mkdir(parents=True, exist_ok=True)
    site = prefix / "haiqiao.conf"
    site.write_text(site_text, encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_main(prefix, site), encoding="utf-8")
    command = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    return subprocess.Popen(command)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (as a bureau's would be for its name), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path
