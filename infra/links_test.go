package infra_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestEachFunctionLinksOnlyWhatItUses holds every function to the services
// its composition root builds: a timer does not carry the API and the
// dashboard, the callback carries no posting, rollup or API code (nor, on
// Lambda, first-touch code), and only the callback carries the Lambda
// invoke client. Both
// builds count (Lambda by default, SCF with -tags scf).
func TestEachFunctionLinksOnlyWhatItUses(t *testing.T) {
	const mod = "github.com/siyuhq/siyu/"
	forbidden := map[string][]string{
		"callback": {"shared/posts", "shared/moments", "shared/churn", "shared/api", "shared/contactsync", "shared/report", "shared/dashboard"},
		"poster":   {"shared/dashboard", "shared/callback", "shared/api", "shared/churn", "shared/contactsync", "shared/report", "shared/lambdaedge/lambdainvoke"},
		"rollup":   {"shared/dashboard", "shared/callback", "shared/api", "shared/lambdaedge/lambdainvoke"},
		"api":      {"shared/callback", "shared/lambdaedge/lambdainvoke"},
	}
	// On Lambda the callback never calls WeCom: it hands first touch to the
	// poster. On SCF it sends the welcome itself (nothing to hand it to).
	lambdaOnly := map[string][]string{"callback": {"shared/firsttouch"}}
	for _, tags := range []string{"", "scf"} {
		for fn, never := range forbidden {
			if tags == "" {
				never = append(slices.Clone(never), lambdaOnly[fn]...)
			}
			build := "Lambda"
			if tags == "scf" {
				build = "SCF"
			}
			t.Run(fn+"'s "+build+" build", func(t *testing.T) {
				out, err := exec.Command("go", "list", "-tags", tags, "-deps", "../functions/"+fn).Output()
				if err != nil {
					t.Fatalf("go list: %v", err)
				}
				deps := strings.Fields(string(out))
				if !slices.Contains(deps, mod+"functions/"+fn+"/root") {
					t.Fatalf("functions/%s does not build through its composition root; deps: %v", fn, deps)
				}
				for _, pkg := range never {
					if slices.Contains(deps, mod+pkg) {
						t.Errorf("functions/%s links %s", fn, pkg)
					}
				}
			})
		}
	}
}
