package ctnat

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/ti-mo/netfilter"
	"golang.org/x/sys/unix"
)

func find(attrs []netfilter.Attribute, typ uint16) *netfilter.Attribute {
	for i := range attrs {
		if attrs[i].Type == typ {
			return &attrs[i]
		}
	}
	return nil
}

func TestMarshalCreateWithSNAT(t *testing.T) {
	c, s, n := netip.MustParseAddr("10.1.0.10"), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.1")
	e := Entry{
		Orig:    Tuple{Src: c, Dst: s, Proto: unix.IPPROTO_TCP, SrcPort: 40000, DstPort: 80},
		Reply:   Tuple{Src: s, Dst: n, Proto: unix.IPPROTO_TCP, SrcPort: 80, DstPort: 1024},
		Status:  StatusSeenReply | StatusAssured | StatusSrcNAT | StatusConfirmed,
		Timeout: 300,
		TCP:     &TCP{State: TCPEstablished, WScaleOrig: 7, WScaleReply: 9, FlagsOrig: 3, FlagsReply: 3, MaskOrig: 3, MaskReply: 3},
		SNAT:    &NAT{Addr: n, Port: 1024},
	}
	m, err := Marshal(e, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Flags&(netlink.Create|netlink.Excl) != netlink.Create|netlink.Excl {
		t.Errorf("flags %v", m.Header.Flags)
	}
	h, attrs, err := netfilter.UnmarshalNetlink(m)
	if err != nil {
		t.Fatal(err)
	}
	if h.Family != netfilter.ProtoIPv4 || h.SubsystemID != netfilter.NFSubsysCTNetlink {
		t.Errorf("header %v", h)
	}
	// The reply tuple is the plain inverse: the kernel translates it.
	r := find(attrs, ctaTupleReply)
	if r == nil {
		t.Fatal("no reply tuple")
	}
	ip := find(r.Children, ctaTupleIP)
	if got := netip.AddrFrom4([4]byte(find(ip.Children, ctaIPv4Dst).Data)); got != c {
		t.Errorf("reply dst %v, want %v (untranslated)", got, c)
	}
	if st := find(attrs, ctaStatus); st == nil || st.Uint32() != StatusSeenReply|StatusAssured|StatusConfirmed {
		t.Errorf("status %v, want SEEN_REPLY|ASSURED|CONFIRMED only", st)
	}
	nat := find(attrs, ctaNATSrc)
	if nat == nil || !nat.Nested {
		t.Fatal("no nested CTA_NAT_SRC")
	}
	if got := netip.AddrFrom4([4]byte(find(nat.Children, ctaNATV4MinIP).Data)); got != n {
		t.Errorf("nat min %v", got)
	}
	p := find(nat.Children, ctaNATProto)
	if p == nil || find(p.Children, ctaProtoNATPortMin).Uint16() != 1024 || find(p.Children, ctaProtoNATPortMax).Uint16() != 1024 {
		t.Errorf("nat proto %v", p)
	}
	tcp := find(find(attrs, ctaProtoInfo).Children, ctaProtoInfoTCP)
	if f := find(tcp.Children, ctaProtoInfoTCPFlagsO); f == nil || f.Data[0] != 3 || f.Data[1] != 3 {
		t.Errorf("flags orig %v", f)
	}
	if w := find(tcp.Children, ctaProtoInfoTCPWScaleR); w == nil || w.Data[0] != 9 {
		t.Errorf("wscale reply %v", w)
	}
	if find(attrs, ctaTimeout).Uint32() != 300 {
		t.Error("timeout")
	}

	// An update names the entry by its original tuple and leaves NAT out.
	m, _ = Marshal(e, false)
	_, attrs, _ = netfilter.UnmarshalNetlink(m)
	if find(attrs, ctaNATSrc) != nil || find(attrs, ctaTupleReply) != nil {
		t.Error("update carries NAT or the reply tuple")
	}
	if st := find(attrs, ctaStatus); st == nil || st.Uint32() != StatusSeenReply|StatusAssured|StatusConfirmed {
		t.Errorf("update status %v, want SEEN_REPLY|ASSURED|CONFIRMED", st)
	}
}

func TestInvertICMP(t *testing.T) {
	tu := Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: unix.IPPROTO_ICMP, ICMPType: 8, ICMPID: 5}
	r := tu.Invert()
	if r.ICMPType != 0 || r.Src != tu.Dst || r.ICMPID != 5 {
		t.Errorf("invert %v", r)
	}
	if _, err := Marshal(Entry{Orig: Tuple{Src: tu.Src, Dst: netip.MustParseAddr("::1")}}, true); err == nil {
		t.Error("mixed families accepted")
	}
}
