package ctnat

import (
	"encoding/binary"
	"reflect"
	"syscall"
	"testing"
)

// nlmsg is a netlink message of type typ with payload data, padded.
func nlmsg(typ uint16, seq uint32, data []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(syscall.NLMSG_HDRLEN+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, 0)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 7)
	b = append(b, data...)
	for len(b)%syscall.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// messages is every message NextMessage splits off b, and whether it
// reached the end.
func messages(b []byte) ([]syscall.NetlinkMessage, bool) {
	var out []syscall.NetlinkMessage
	for len(b) > 0 {
		m, rest, ok := NextMessage(b)
		if !ok {
			return out, false
		}
		out, b = append(out, m), rest
	}
	return out, true
}

// TestNextMessageAsParseNetlinkMessage: on well-formed datagrams
// NextMessage yields the messages syscall.ParseNetlinkMessage returns;
// where that refuses a datagram, NextMessage stops at the bad message.
func TestNextMessageAsParseNetlinkMessage(t *testing.T) {
	two := append(nlmsg(1, 1, []byte{1, 2, 3}), nlmsg(2, 2, []byte{4, 5, 6, 7, 8})...)
	for _, b := range [][]byte{nlmsg(3, 9, nil), two, nlmsg(0x101, 5, make([]byte, 40))} {
		want, err := syscall.ParseNetlinkMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		got, whole := messages(b)
		if !whole || !reflect.DeepEqual(got, want) {
			t.Errorf("%x: NextMessage gave %+v (whole %v), ParseNetlinkMessage %+v", b, got, whole, want)
		}
	}
	short := two[:len(two)-4] // the second message's padded length runs past the end
	if _, err := syscall.ParseNetlinkMessage(short); err == nil {
		t.Fatal("ParseNetlinkMessage took a truncated datagram")
	}
	if got, whole := messages(short); whole || len(got) != 1 {
		t.Errorf("truncated datagram: %d messages, whole %v; want the first only", len(got), whole)
	}
	bad := nlmsg(1, 1, nil)
	binary.NativeEndian.PutUint32(bad, 8) // shorter than a header
	if got, whole := messages(bad); whole || len(got) != 0 {
		t.Errorf("nlmsg_len 8: %d messages, whole %v", len(got), whole)
	}
	if n := testing.AllocsPerRun(100, func() { walkMessages(two) }); n != 0 {
		t.Errorf("%v allocations per datagram, want 0", n)
	}
}

// walkMessages walks b as the readers do.
func walkMessages(b []byte) (n int) {
	for m, rest, ok := NextMessage(b); ok; m, rest, ok = NextMessage(rest) {
		n += len(m.Data)
	}
	return n
}

// FuzzNextMessage: NextMessage never panics, never returns a message
// running past b, and agrees with ParseNetlinkMessage on every datagram
// that accepts.
func FuzzNextMessage(f *testing.F) {
	f.Add(nlmsg(1, 1, []byte{1, 2, 3}))
	f.Add(append(nlmsg(1, 1, nil), 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _ := messages(b) // a tail shorter than a header ends both
		want, err := syscall.ParseNetlinkMessage(b)
		if err == nil && len(want) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("%x: NextMessage %+v, ParseNetlinkMessage %+v", b, got, want)
		}
		for _, m := range got {
			if int(m.Header.Len) > len(b) {
				t.Fatalf("%x: message of %d bytes", b, m.Header.Len)
			}
		}
	})
}
