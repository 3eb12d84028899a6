package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSlowLorisConnectionsAreDropped opens many connections that send their
// headers too slowly and checks that the server closes each of them after
// --read-header-timeout and keeps serving others meanwhile.
func TestSlowLorisConnectionsAreDropped(t *testing.T) {
	base := startServer(t, "--read-header-timeout", "300ms")
	addr := strings.TrimPrefix(base, "http://")
	var conns []net.Conn
	for range 100 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/healthz while 100 slow clients hang: %d", resp.StatusCode)
	}
	closed := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		// The server either closes the connection or answers 408 and closes.
		for {
			_, err := c.Read(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("a slow connection was still open after 5s")
				}
				closed++
				break
			}
		}
	}
	if closed != len(conns) {
		t.Fatalf("%d of %d slow connections closed", closed, len(conns))
	}
}
