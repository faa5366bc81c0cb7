package kernel

// NoExt lets the external tests check that nothing wrote the shared empty
// operands.
var NoExt = &noExt
