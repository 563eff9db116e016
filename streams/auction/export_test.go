package auction

// RowCodec is the group table's codec, for the package's external tests.
var RowCodec = stateCodec{}
