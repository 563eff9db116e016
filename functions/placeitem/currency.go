package placeitem

// KnownCurrency reports whether code is an ISO 4217 currency the platform
// trades in. The list is deliberately short: a currency is added when
// someone needs it, with its minor unit checked.
func KnownCurrency(code string) bool {
	switch code {
	case "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF",
		"INR", "JPY", "KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR":
		return true
	}
	return false
}
