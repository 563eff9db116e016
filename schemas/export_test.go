package schemas

import (
	"bytes"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Library is v validating with the JSON Schema library alone, as it did
// before its checks: what a check's yes is held to.
func (v *Validator) Library() *Validator {
	c := *v
	c.checks = nil
	return &c
}

// Check is the verdict of the check of eventType on data: "yes", "no",
// "unsure", or "" when the type has no check or data is not JSON.
func (v *Validator) Check(eventType string, data []byte) string {
	ch := v.checks[eventType]
	if ch == nil {
		return ""
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	return [...]string{yes: "yes", no: "no", unsure: "unsure"}[ch.run(inst)]
}
