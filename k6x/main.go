// k6 with capacity's native submission path (k6/x/capacity): k6's own command, built with one extension more.
package main

import (
	_ "capacity/k6x/submit"

	"go.k6.io/k6/cmd"
)

func main() {
	cmd.Execute()
}
