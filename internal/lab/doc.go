// Package lab builds throw-away network topologies for kernel tests out of
// Linux network namespaces.
//
// A [Lab] belongs to one test. It creates hosts ([Lab.Host]), point-to-point
// cables ([Lab.Link]) and switches ([Lab.Switch]), each host and switch
// being a named network namespace ("ip netns"), so that ip, ping, socat,
// nft and the project's own binaries can run inside them. Go code runs
// inside a host through [Host.Do].
//
// Names: every namespace is called "<prefix>-<name>" where the prefix is
// "cf", the creating process id in base 36, "-" and a per-process counter
// in base 36, for example "cf1k3f-2-h1". Labs of parallel tests and of
// concurrent test binaries therefore never collide. Names matching
// "cf<base36>-<base36>-..." are reserved for this package: [New] deletes
// those whose creating process is gone (left over by a killed test binary).
//
// Clean-up: [New] registers a t.Cleanup that stops every process started
// with [Host.Start] (SIGTERM, then SIGKILL of its process group after two
// seconds), prints their output when the test failed, and deletes every
// namespace; t.Cleanup also runs after t.Fatal and after a panic.
//
// If the test binary itself dies (SIGKILL, "go test -timeout" panic),
// clean-up cannot run. Processes started with [Host.Start] then get SIGKILL
// as parent-death signal. Their own children do not inherit that signal,
// but they are stuck in a namespace nobody uses, and the next [New] in any
// test binary kills them while deleting the stale namespaces.
//
// The package never changes the root network namespace: interfaces are
// created directly inside the hosts' namespaces, and sysctls are written
// from threads switched into a host.
//
// Lab, Host and Switch methods that report setup errors through t.Fatalf
// must be called from the goroutine running the test that created the Lab.
// Methods that return an error may be called from any goroutine.
package lab
