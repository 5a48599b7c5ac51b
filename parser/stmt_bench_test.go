package parser

// Statement benchmarks: the cost of the participle grammar alone.

import "testing"

func benchStmt(b *testing.B, src string) {
	l := newLexer("b", []byte(src), NewMacros(), func(string, int, string) {}, func(string) {})
	var toks []Token
	for {
		t := l.Next()
		if t.Kind == EOF || t.Kind == NL {
			break
		}
		toks = append(toks, t)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, _, ok := parseTokens(toks, 1, "b"); !ok {
			b.Fatal("parse failed")
		}
	}
}

func BenchmarkStmtSimple(b *testing.B) { benchStmt(b, "pass in all") }
func BenchmarkStmtRule(b *testing.B) {
	benchStmt(b, "pass in on lo0 proto tcp from 10.0.0.0/8 to 192.168.0.1 port 22 keep state")
}
func BenchmarkStmtLists(b *testing.B) {
	benchStmt(b, "pass in on lo0 proto tcp from { 10.0.0.0/16, 172.16.0.0/24 } to 192.168.5.1 port { 1000, 2000, 3000:3100 } keep state")
}
