"""The first admin of a new installation (``haiqiao create-admin``): on a bare server nobody can log in
to create one through the API, so the technician does it on the machine, where they are root anyway."""

from __future__ import annotations

from scheduling.enums import Role
from server.db.engine import make_engine, make_sessionmaker
from server.models import Person
from server.org import service
from server.org.schemas import PersonIn
from server.settings import Settings


async def create_admin(settings: Settings, login: str, name: str, password: str) -> int:
    """A person with the admin role, under the same rules as the API's (login format, password length, a
    login taken is refused); their id."""
    body = PersonIn(name=name, login=login, password=password, roles=[Role.admin])
    # Whoever runs the command on the server acts as an admin; this stands for them (never stored).
    on_the_server = Person(name="haiqiao create-admin", login="-", password_hash="-", roles=[Role.admin])
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            person = await service.create_person(db, body, on_the_server)
            assert person.id is not None
            return person.id
    finally:
        await engine.dispose()
