package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carpfw/carp"
)

// TestTsharkDecodesAdvertisements captures the MASTER's advertisements on
// the wire and has Wireshark's dissector, an implementation independent of
// ours, decode them: version 2, type 1, the vhid, advbase and advskew we
// configured, and a correct checksum.
func TestTsharkDecodesAdvertisements(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Fatal("tshark not installed (make deps installs it):", err)
	}
	fw1, _, client := pair(t)
	fw1.carpctl("carp0", "advbase", "0", "advskew", "26") // ten advertisements a second
	fw1.waitState("carp0", carp.Master, 5*time.Second)
	pcap := filepath.Join(t.TempDir(), "carp.pcap")
	if out, err := client.RunTimeout(20*time.Second, "tshark", "-i", "eth0", "-f", "ip proto 112", "-c", "3", "-a", "duration:10", "-w", pcap); err != nil {
		t.Fatalf("capture: %v\n%s", err, out)
	}
	out, err := exec.Command("tshark", "-r", pcap, "-d", "ip.proto==112,carp", "-o", "ip.check_checksum:TRUE", "-V").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("first packet as tshark decodes it:\n%s", text[:strings.Index(text+"Frame 2:", "Frame 2:")])
	for _, want := range []string{
		"Common Address Redundancy Protocol",
		"= CARP protocol version: 2",
		"= CARP packet type: Advertisement (1)",
		"Virtual Host ID: 1",
		"Advertisement Skew: 26",
		"Auth Len: 7",
		"Demotion indicator: 0",
		"Adver Int: 0",
		"Checksum Status: Good",
		"Time to Live: 255",
		"Protocol: VRRP (112)",
		"Destination Address: 224.0.0.18",
		"Differentiated Services Field: 0x10",
		"Don't fragment: Set",
		"[Header checksum status: Good]",
		"Source: IETF-VRRP-VRID_01 (00:00:5e:00:01:01)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
}
