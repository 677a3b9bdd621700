// Package version holds the release the binaries were built from.
package version

// Version is the release, set by the linker in make release
// (-X github.com/resultmaterialize/controller/pkg/version.Version=vX.Y.Z);
// a build from source says devel.
var Version = "devel"
