"""How accounts hang on the area tree: an account administrator sees the accounts of her subtree; a community's
staff see the self-registrations of their community (to confirm them)."""

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import AccountProfile, Registration

scope.register(AccountProfile, area="home_area__path", cap=Cap.MANAGE_ACCOUNTS)
scope.register(Registration, area="community__path", cap=Cap.EDIT_PEOPLE)
