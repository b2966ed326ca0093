package store

import "sync"

// userShard maps a user's keyed hash to the map keys of the user's sessions.
type userShard struct {
	mu sync.Mutex
	m  map[key][]key
}

func (sb *sandbox) userShard(u *key) *userShard { return &sb.users[u[0]%nUserShards] }

// limitLock is the lock serialising additions of sessions to user u (see sandbox.limits).
func (sb *sandbox) limitLock(u *key) *sync.Mutex { return &sb.limits[u[0]%nUserShards] }

// indexAdd and indexRemove keep the per-user index exact. Lock order: a record shard's lock may
// be held while taking a user shard's lock, never the reverse.
func (sb *sandbox) indexAdd(u, sid *key) {
	us := sb.userShard(u)
	us.mu.Lock()
	us.m[*u] = append(us.m[*u], *sid)
	us.mu.Unlock()
}

func (sb *sandbox) indexRemove(u, sid *key) {
	us := sb.userShard(u)
	us.mu.Lock()
	list := us.m[*u]
	for i := range list {
		if list[i] == *sid {
			list[i] = list[len(list)-1]
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(us.m, *u)
	} else {
		us.m[*u] = list
	}
	us.mu.Unlock()
}

func (sb *sandbox) indexList(u *key) []key {
	us := sb.userShard(u)
	us.mu.Lock()
	defer us.mu.Unlock()
	return append([]key(nil), us.m[*u]...)
}
