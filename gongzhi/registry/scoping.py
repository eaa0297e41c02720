"""How each registry model hangs on the area tree, for :mod:`gongzhi.core.scope`."""

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from . import models as m

scope.register(m.Area, area="path")
scope.register(m.MemberUnit, area="area__path", unit="pk")
scope.register(m.PartyOrganisation, area="area__path", unit="unit_id")
scope.register(m.Person, area="area__path", person="pk", cap=Cap.VIEW_PEOPLE)
scope.register(m.PartyMember, area="person__area__path", person="person_id", cap=Cap.VIEW_PEOPLE)
scope.register(m.DualRegistration, area="community__path", unit="unit_id", cap=Cap.VIEW_PEOPLE)
scope.register(m.StaffPost, area="area__path", person="person_id", cap=Cap.VIEW_PEOPLE)
scope.register(m.OrganisationPost, area="organisation__area__path", person="person_id", cap=Cap.VIEW_PEOPLE)
scope.register(m.GrassrootsGroup, area="area__path")
scope.register(m.GrassrootsSurvey, area="area__path")
scope.register(m.Pairing, area="area__path", unit="unit_id", person="person_id")
scope.register(m.Commitment, area="pairing__area__path", unit="pairing__unit_id")
scope.register(m.CommitmentItem, area="commitment__pairing__area__path", unit="commitment__pairing__unit_id")
scope.register(m.PairingVisit, area="pairing__area__path", unit="pairing__unit_id")
