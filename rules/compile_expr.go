package rules

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Statement builders. Each returns the nft syntax (nft(8)) and the
// kernel expressions it stands for (linux/netfilter/nf_tables.h
// NFTA_*), so the text printed by --print-nft is what is loaded.
// Everything works in register 1 (NFT_REG_1); verdicts go to register 0.

const reg = 1

func ne32(v uint32) []byte { return binaryutil.NativeEndian.PutUint32(v) }

func be16(v uint16) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, v)
	return b
}

// ifnameBytes pads an interface name to IFNAMSIZ, as meta iifname loads it.
func ifnameBytes(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func cmpOp(neg bool) (expr.CmpOp, string) {
	if neg {
		return expr.CmpOpNeq, "!= "
	}
	return expr.CmpOpEq, ""
}

// sNfproto is "meta nfproto ipv4|ipv6".
func sNfproto(af int) Stmt {
	v, name := byte(unix.NFPROTO_IPV4), "ipv4"
	if af == AFInet6 {
		v, name = unix.NFPROTO_IPV6, "ipv6"
	}
	return Stmt{"meta nfproto " + name, []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{v}},
	}}
}

// sL4proto is "meta l4proto N" (or != N).
func sL4proto(p int, neg bool) Stmt {
	op, t := cmpOp(neg)
	return Stmt{fmt.Sprintf("meta l4proto %s%d", t, p), []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg},
		&expr.Cmp{Op: op, Register: reg, Data: []byte{byte(p)}},
	}}
}

// sIfname is "iifname X" or "oifname X" (pf.conf(5) "on interface").
func sIfname(in bool, name string, neg bool) Stmt {
	key, kw := expr.MetaKeyOIFNAME, "oifname"
	if in {
		key, kw = expr.MetaKeyIIFNAME, "iifname"
	}
	op, t := cmpOp(neg)
	return Stmt{fmt.Sprintf("%s %s%q", kw, t, name), []expr.Any{
		&expr.Meta{Key: key, Register: reg},
		&expr.Cmp{Op: op, Register: reg, Data: ifnameBytes(name)},
	}}
}

// sMarkTest is "meta mark & MASK == VAL" (or !=).
func sMarkTest(mask, val uint32, neg bool) Stmt {
	op, t := cmpOp(neg)
	return Stmt{fmt.Sprintf("meta mark & 0x%08x %s0x%08x", mask, neqText(t), val), []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: ne32(mask), Xor: ne32(0)},
		&expr.Cmp{Op: op, Register: reg, Data: ne32(val)},
	}}
}

func neqText(t string) string {
	if t == "" {
		return "== "
	}
	return t
}

// sMarkSet is "meta mark set meta mark & KEEP | VAL": the bits outside
// KEEP are replaced by VAL (nft_bitwise: (reg & mask) ^ xor).
func sMarkSet(keep, val uint32) Stmt {
	return Stmt{fmt.Sprintf("meta mark set meta mark & 0x%08x | 0x%08x", keep, val), []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: ne32(keep), Xor: ne32(val)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg},
	}}
}

// sCtMarkOr is "ct mark set ct mark | BITS".
func sCtMarkOr(bits uint32) Stmt {
	return Stmt{fmt.Sprintf("ct mark set ct mark | 0x%08x", bits), []expr.Any{
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: ne32(^bits), Xor: ne32(bits)},
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg, SourceRegister: true},
	}}
}

// sCtMarkTest is "ct mark & MASK == VAL" or "!= VAL".
func sCtMarkTest(mask, val uint32, neg bool) Stmt {
	op, t := cmpOp(neg)
	return Stmt{fmt.Sprintf("ct mark & 0x%08x %s0x%08x", mask, neqText(t), val), []expr.Any{
		&expr.Ct{Key: expr.CtKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: ne32(mask), Xor: ne32(0)},
		&expr.Cmp{Op: op, Register: reg, Data: ne32(val)},
	}}
}

// sCtDirection is "ct direction original|reply" (IP_CT_DIR_*).
func sCtDirection(reply bool) Stmt {
	v, t := byte(0), "original"
	if reply {
		v, t = 1, "reply"
	}
	return Stmt{"ct direction " + t, []expr.Any{
		&expr.Ct{Key: expr.CtKeyDIRECTION, Register: reg},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{v}},
	}}
}

// sCtState is "ct state NAME", NAME the conntrack state bit (NFT_CT_STATE).
func sCtState(bit uint32, name string) Stmt {
	return Stmt{"ct state " + name, []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATE, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4,
			Mask: ne32(bit), Xor: ne32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg, Data: ne32(0)},
	}}
}

// sVerdict is accept, drop, return, "jump C" or "goto C".
func sVerdict(kind expr.VerdictKind, chain string) Stmt {
	var t string
	switch kind {
	case expr.VerdictAccept:
		t = "accept"
	case expr.VerdictDrop:
		t = "drop"
	case expr.VerdictReturn:
		t = "return"
	case expr.VerdictJump:
		t = "jump " + chain
	case expr.VerdictGoto:
		t = "goto " + chain
	}
	return Stmt{t, []expr.Any{&expr.Verdict{Kind: kind, Chain: chain}}}
}

// sCounter is "counter name NAME": a reference to a named counter
// object (NFT_OBJECT_COUNTER), readable with pfconf -s rules -v.
func sCounter(name string) Stmt {
	return Stmt{fmt.Sprintf("counter name %q", name), []expr.Any{
		&expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: name},
	}}
}

// sLog is "log prefix P group G": NFLOG group G stands for pflogG.
func sLog(prefix string, group uint16) Stmt {
	return Stmt{fmt.Sprintf("log prefix %q group %d", prefix, group), []expr.Any{
		&expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX, Group: group, Data: []byte(prefix)},
	}}
}

// sVmap is "meta mark & MASK vmap @MAP".
func sVmap(mask uint32, m string) Stmt {
	return Stmt{fmt.Sprintf("meta mark & 0x%08x vmap @%s", mask, m), []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4, Mask: ne32(mask), Xor: ne32(0)},
		&expr.Lookup{SourceRegister: reg, DestRegister: 0, IsDestRegSet: true, SetName: m},
	}}
}
