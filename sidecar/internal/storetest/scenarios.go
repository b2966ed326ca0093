package storetest

import "testing"

// All is every scenario, by name. A scenario is a function of an Each, in the file of its
// topic: errors.go, kv.go, resolve.go, rotation.go, theft.go, update.go, revoke.go,
// binding.go, limits.go, regenerate.go, deadline.go, peek.go, auth.go, device.go.
var All = []struct {
	Name string
	Run  func(t *testing.T, each Each)
}{
	{"Errors", Errors},
	{"KVOperations", KVOperations},
	{"FiveDayCap", FiveDayCap},
	{"KVScan", KVScan},
	{"SessionCreateAndResolve", SessionCreateAndResolve},
	{"ResolveMalformedTokensAreNotFound", ResolveMalformedTokensAreNotFound},
	{"ConcurrentRotation", ConcurrentRotation},
	{"GraceWindowEdges", GraceWindowEdges},
	{"Grandparent", Grandparent},
	{"GraceListCap", GraceListCap},
	{"LostAnswer", LostAnswer},
	{"ParallelRequests", ParallelRequests},
	{"StolenToken", StolenToken},
	{"KilledTokensStayDead", KilledTokensStayDead},
	{"Deadlines", Deadlines},
	{"ForgedGraceTokenIsNotFound", ForgedGraceTokenIsNotFound},
	{"MinRotateInterval", MinRotateInterval},
	{"Revoke", Revoke},
	{"Update", Update},
	{"ListRevokeAllRevokeID", ListRevokeAllRevokeID},
	{"TokensDoNotCrossSandboxes", TokensDoNotCrossSandboxes},
	{"BindingModesAndActions", BindingModesAndActions},
	{"CSRFTokenAndFlags", CSRFTokenAndFlags},
	{"IdleTimeoutNeverPastAbsolute", IdleTimeoutNeverPastAbsolute},
	{"IdleExpiryWithinTouchInterval", IdleExpiryWithinTouchInterval},
	{"MaxSessionsPerUser", MaxSessionsPerUser},
	{"MaxSessionsConcurrentLogins", MaxSessionsConcurrentLogins},
	{"Regenerate", Regenerate},
	{"Peek", Peek},
	{"PeekBinding", PeekBinding},
	{"PeekDevice", PeekDevice},
	{"AuthRecord", AuthRecord},
	{"RevokeSandboxAndOthers", RevokeSandboxAndOthers},
	{"RevokeSandboxMany", RevokeSandboxMany},
	{"DeviceBinding", DeviceBinding},
	{"DeviceTheft", DeviceTheft},
	{"DeviceOpsAreNotActivity", DeviceOpsAreNotActivity},
}

// RunAll runs every scenario as a subtest of t.
func RunAll(t *testing.T, each Each) {
	for _, sc := range All {
		t.Run(sc.Name, func(t *testing.T) { sc.Run(t, each) })
	}
}
