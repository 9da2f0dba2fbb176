"""Staff users and sign-in for consoles and self-care."""

from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.models import ROLES, Account, Department, StaffUser
from app.security.passwords import hash_password, verify_password

from .accounts import EMAIL
from .errors import FieldErrors


def check_staff_fields(errors: FieldErrors, *, email: str, name: str, password: str,
                       role: str, prefix: str = "") -> None:
    """Field checks of a new staff user (``prefix`` names them, e.g. ``owner_``)."""
    errors.require(f"{prefix}email", email)
    errors.require(f"{prefix}name", name)
    if email and not EMAIL.match(email):
        errors.add(f"{prefix}email", "invalid")
    if len(password or "") < 8:
        errors.add(f"{prefix}password", "too_short")
    if role not in ROLES:
        errors.add(f"{prefix}role", "invalid")


def create_staff(
    *, email: str, name: str, password: str, role: str = "operator",
    departments: list[str] | tuple[str, ...] = (),
) -> StaffUser:
    email = (email or "").strip().lower()
    errors = FieldErrors()
    check_staff_fields(errors, email=email, name=name, password=password, role=role)
    if email and db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        errors.add("email", "taken")
    errors.raise_if_any()
    staff = StaffUser(email=email, name=name, password_hash=hash_password(password), role=role)
    for department_name in departments:
        department = db.session.scalar(select(Department).where(Department.name == department_name))
        if department is None:
            department = Department(name=department_name)
            db.session.add(department)
        staff.departments.append(department)
    db.session.add(staff)
    db.session.flush()
    return staff


def authenticate_staff(email: str, password: str) -> StaffUser | None:
    """The active staff user of the *current realm* with these credentials, else None."""
    staff = db.session.scalar(
        select(StaffUser).where(func.lower(StaffUser.email) == (email or "").strip().lower())
    )
    if not verify_password(staff.password_hash if staff else None, password or ""):
        return None
    return staff if staff.active else None


def authenticate_subscriber(username: str, password: str) -> Account | None:
    """Self-care sign-in by service username (``alice`` or ``alice@<realm domain>``)."""
    login = (username or "").strip().lower().split("@", 1)[0]
    account = db.session.scalar(select(Account).where(Account.username == login))
    if not verify_password(account.password_hash if account else None, password or ""):
        return None
    return account if account.status != "closed" else None


def load_user(user_id: str):
    """Flask-Login loader: looks the user up *within the current realm* only."""
    key = user_key(user_id)
    if key is None:
        return None
    model, id_ = key
    return db.session.scalar(_user_query(model), {"id": id_})


def user_key(user_id: str | None) -> tuple[type, int] | None:
    """The model and id a Flask-Login user id names (``account:12``, ``staff:3``), or None."""
    kind, _, raw_id = (user_id or "").partition(":")
    model = _USER_KINDS.get(kind)
    if model is None or not raw_id.isdigit():
        return None
    return model, int(raw_id)


_USER_KINDS = {"staff": StaffUser, "account": Account}


@cache
def _user_query(model: type):
    """Built once: every signed-in request without a prefetched user runs one."""
    return select(model).where(model.id == bindparam("id"))


def get_active_staff(staff_id: int) -> StaffUser | None:
    """An active staff user of the current realm (``None`` if unknown, inactive or elsewhere)."""
    staff = db.session.scalar(select(StaffUser).where(StaffUser.id == staff_id))
    return staff if staff is not None and staff.active else None
