package session

// FromIssueTimes completes a state read from a record written before first presentations were
// kept (a vault blob or a Redis header of the first layout), which remembers only when each
// generation was issued: the current one (Issued) and, for a session rotated several times
// within MaxGraceMs, the older ones (issued, ms after Created, oldest first, the last one
// Gen-1's). Every generation is taken as presented when it was issued, which is the rule those
// records were written under (a token superseded grace or more ago was reuse): a session never
// becomes easier to take over by being migrated. Its next rotation records real presentations.
func (st *State) FromIssueTimes(issued []uint32) {
	st.Presented = st.Issued
	switch {
	case len(issued) > 0:
		st.PrevPresented = st.Created + int64(issued[len(issued)-1])
		st.Older = issued[:len(issued)-1]
		if len(st.Older) > MaxOlder {
			st.Older = st.Older[len(st.Older)-MaxOlder:]
		}
	default:
		// Gen-1 was issued MaxGraceMs or more before Gen (else the record would list it), or
		// Gen <= 1 and there is no Gen-2 to answer for.
		st.PrevPresented = max(st.Created, st.Issued-MaxGraceMs)
		st.Older = nil
	}
}
