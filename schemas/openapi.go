package schemas

import _ "embed"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the HTTP API's description (OpenAPI 3.1), served by the gateway
// at /v1/openapi.yaml.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
