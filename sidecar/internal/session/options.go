package session

// CreateOptions are the fields of S_CREATE besides the sandbox and the data.
type CreateOptions struct {
	TTLMs  uint64 // absolute lifetime, 1..5 days
	IdleMs uint64 // idle timeout, 0 = none, else 1..5 days
	UserID []byte // "" = none; else the session is in the per-user index
	Meta   []byte // sealed with the data; returned by S_LIST only
	// Remember marks a remember-me session (the client keeps a persistent cookie); resolve
	// reports it so every rotated cookie keeps the same kind.
	Remember   bool
	MaxPerUser uint32 // 0 = no limit (only with a UserID)
	OnLimit    LimitPolicy
	Bind       BindMode
	IP         []byte // the client's address (hashed when bound, else unused)
	UserAgent  []byte // the client's user agent (hashed when bound, else unused)
	Auth       *Auth  // the login's authentication record (nil: none)
}

// LimitPolicy is what S_CREATE does when the user already has MaxPerUser sessions.
type LimitPolicy uint8

const (
	LimitEvictOldest LimitPolicy = 0 // end the user's oldest sessions to make room
	LimitReject      LimitPolicy = 1 // refuse the new session (LIMIT_REACHED)
)

// ResolveOptions are the fields of S_RESOLVE besides the sandbox and the token.
type ResolveOptions struct {
	Rotate      bool
	GraceMs     uint64
	MinRotateMs uint64
	WantCSRF    bool
	// CheckBinding compares IP and UserAgent with what the session is bound to (if anything)
	// and applies OnMismatch.
	CheckBinding bool
	OnMismatch   MismatchAction
	IP           []byte
	UserAgent    []byte
}
