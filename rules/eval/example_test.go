package eval_test

import (
	"fmt"
	"math/rand"

	"carpfw/parser"
	"carpfw/rules"
	"carpfw/rules/eval"
)

func Example() {
	host := eval.NewFakeHost("em0 192.0.2.1/24", "em1 10.0.0.1/24")
	conf := "block all\npass out on em0 from 10.0.0.0/24 nat-to 192.0.2.1\n"
	l, err := eval.Load("pf.conf", []byte(conf), parser.Config{Inventory: host})
	if err != nil {
		fmt.Println(err)
		return
	}
	e := l.New(host)
	out := eval.Packet{If: "em0", Dir: rules.DirOut, Proto: eval.ProtoUDP,
		Src: mustAddr("10.0.0.7"), SrcPort: 1234, Dst: mustAddr("198.51.100.1"), DstPort: 53}
	fmt.Println(e.Eval(out))
	reply := e.Eval(eval.Packet{If: "em0", Dir: rules.DirIn, Proto: eval.ProtoUDP,
		Src: mustAddr("198.51.100.1"), SrcPort: 53, Dst: mustAddr("192.0.2.1"), DstPort: 50001})
	fmt.Println(reply)
	// Output:
	// pass @1 keep nat 192.0.2.1:50001 > 198.51.100.1:53
	// pass state nat 198.51.100.1:53 > 10.0.0.7:1234
}

func ExampleRandomRuleset() {
	r := rand.New(rand.NewSource(1))
	opts := eval.RandomOptions{Rules: 3, NoTables: true}
	conf := eval.RandomRuleset(r, opts)
	host := eval.NewFakeHost("em0 192.0.2.1/24", "em1 10.0.0.1/24")
	l, err := eval.Load("random", []byte(conf), parser.Config{Inventory: host})
	if err != nil {
		fmt.Println(err)
		return
	}
	e := l.New(host)
	for i := 0; i < 3; i++ {
		p := eval.RandomPacket(r, opts)
		_ = e.Eval(p)
		_ = e.Eval(eval.Reply(p))
	}
	fmt.Println(len(conf) > 0)
	// Output: true
}
