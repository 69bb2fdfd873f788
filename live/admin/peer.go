package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/user"
	"syscall"
)

// peerKey is the context key of the connection a request came on.
type peerKey struct{}

// withConn keeps the connection in the request's context, so that a
// handler can ask the kernel who is at its other end.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, c)
}

// peer names who sent r, as the kernel says of the unix socket's other end
// (SO_PEERCRED): "uid 1000 (alice)", or "" when it cannot say. The client
// cannot choose it, so the events that name who asked can be believed.
func peer(r *http.Request) string {
	uc, ok := r.Context().Value(peerKey{}).(*net.UnixConn)
	if !ok {
		return ""
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ""
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return ""
	}
	who := fmt.Sprintf("uid %d", cred.Uid)
	if u, err := user.LookupId(fmt.Sprint(cred.Uid)); err == nil {
		who += " (" + u.Username + ")"
	}
	return who
}
