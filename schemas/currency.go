package schemas

import "slices"

// currencies are the ISO 4217 currencies the platform trades in, sorted.
// The list is deliberately short: a currency is added when someone needs
// it, with its minor unit checked. The OpenAPI document enumerates the same
// list (TestLimitsMatchSchemas).
var currencies = []string{"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF",
	"INR", "JPY", "KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR"}

// Currencies lists the currencies the platform trades in, sorted.
func Currencies() []string { return slices.Clone(currencies) }

// KnownCurrency reports whether code is a currency the platform trades in.
func KnownCurrency(code string) bool {
	_, found := slices.BinarySearch(currencies, code)
	return found
}
