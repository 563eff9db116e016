package gateway

// WholeNumber is wholeNumber, for the external tests.
var WholeNumber = wholeNumber
