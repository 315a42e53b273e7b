"""Flask extensions, created without an app and bound in create_app()."""

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from velferdslab.core import ratelimit  # noqa: F401 - registers the limiter storage that survives Redis
from velferdslab.core.models import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

# The one base every model subclasses. Flask-SQLAlchemy builds db.Model at run time (a subclass of
# Base that adds `query` and the table-name rule), so a type checker cannot see it; it sees the
# declarative base instead, which is what gives the models their Mapped[...] types.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
