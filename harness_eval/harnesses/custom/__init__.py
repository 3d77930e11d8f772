"""`--cli custom`: a bare tool-use loop like the study's own setup (see docs/harnesses/custom.md)."""
