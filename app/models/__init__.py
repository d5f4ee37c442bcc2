"""Database models: accounts (users.py), the second factor
(two_factor.py), passkeys (passkeys.py), where
it is signed in (sessions.py), posts and follows (posts.py), times (clock.py).

Everything is importable from here, as the tutorial has it: `from app.models import
User, Post`. The outbox's table is app.mail.models.
"""

from app.models.clock import Timestamp, as_utc, utcnow
from app.models.passkeys import Passkey, PasskeyChallenge
from app.models.posts import (
    EVERYONES_POSTS,
    FEED,
    FOLLOWED_BY,
    FOLLOWERS_OF,
    NEWEST_FIRST,
    POSTS_BY,
    Post,
    Timeline,
    followers,
    read,
)
from app.models.sessions import UserSession
from app.models.two_factor import PendingSignIn, RecoveryCode
from app.models.users import (
    CHANGE_PURPOSE,
    CONFIRM_PURPOSE,
    PROFILE,
    RESET_AUDIENCE,
    RESET_PURPOSE,
    REVERT_PURPOSE,
    User,
    active_user,
    avatar_url,
    load_user,
    normalize_email,
    password_hasher,
    undo_window,
    username_is,
)

__all__ = [
    "CHANGE_PURPOSE",
    "CONFIRM_PURPOSE",
    "EVERYONES_POSTS",
    "FEED",
    "FOLLOWED_BY",
    "FOLLOWERS_OF",
    "NEWEST_FIRST",
    "POSTS_BY",
    "PROFILE",
    "RESET_AUDIENCE",
    "RESET_PURPOSE",
    "REVERT_PURPOSE",
    "Passkey",
    "PasskeyChallenge",
    "PendingSignIn",
    "Post",
    "RecoveryCode",
    "Timeline",
    "Timestamp",
    "User",
    "UserSession",
    "active_user",
    "as_utc",
    "avatar_url",
    "followers",
    "load_user",
    "normalize_email",
    "password_hasher",
    "read",
    "undo_window",
    "username_is",
    "utcnow",
]
