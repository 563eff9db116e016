package schemas

import (
	"slices"

	"golang.org/x/text/currency"
)

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

// MinorDigits is how many digits of code's amounts come after the decimal
// point, from ISO 4217 (JPY 5000 is ¥5,000, EUR 5000 is €50.00); 2 for a
// code the table does not know.
func MinorDigits(code string) int {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(unit)
	return scale
}

// currencySymbols are the symbols that name one currency unambiguously;
// the others are written with their code.
var currencySymbols = map[string]string{"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥", "INR": "₹", "KRW": "₩"}
