"""Haiqiao's HTTP and signaling service: FastAPI adapters around the scheduling core and the media plane."""
