"""How councils hang on the tree, for :mod:`gongzhi.core.scope`."""

from gongzhi.core import scope

from . import models as m

scope.register(m.Council, area="area__path")
scope.register(m.CouncilMember, area="council__area__path")
scope.register(m.Meeting, area="council__area__path")
scope.register(m.AgendaItem, area="council__area__path")
