package dbsc

// Alg is a signature algorithm DBSC offers. `none` and every other JWS algorithm do not exist
// here, so they can never be offered or accepted.
type Alg uint8

// The algorithms of DBSC: ECDSA P-256 with SHA-256 (raw r||s signature) and RSASSA-PKCS1-v1_5
// with SHA-256.
const (
	ES256 Alg = 1
	RS256 Alg = 2
)

// AlgSet is a set of offered algorithms: bit 1<<(Alg-1), so ES256 = 1 and RS256 = 2, the
// protocol's deviceAlgs bits.
type AlgSet uint8

// Has reports whether a is in the set.
func (s AlgSet) Has(a Alg) bool { return (a == ES256 || a == RS256) && s&(1<<(a-1)) != 0 }

// Of returns the set of the given algorithms.
func Of(algs ...Alg) AlgSet {
	var s AlgSet
	for _, a := range algs {
		s |= 1 << (a - 1)
	}
	return s
}

// String returns the JWS name.
func (a Alg) String() string {
	switch a {
	case ES256:
		return "ES256"
	case RS256:
		return "RS256"
	}
	return "invalid"
}

// parseAlg maps a JWS `alg` to an Alg, exactly (case-sensitive, as RFC 7515 says).
func parseAlg(s string) (Alg, bool) {
	switch s {
	case "ES256":
		return ES256, true
	case "RS256":
		return RS256, true
	}
	return 0, false
}

const maxSignatureLen = maxRSABits / 8
