package infra_test

// Helpers that read template.yaml the way CloudFormation does: YAML with
// short-form intrinsics (!Ref, !GetAtt, !Sub, !If, ...) turned into their
// long form ({"Ref": ...}, {"Fn::GetAtt": [...]}), then evaluated with the
// parameters' defaults where a test needs a concrete value.

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// repoRoot is the module root (this file lives in infra/).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test file")
	}
	return filepath.Dir(filepath.Dir(file))
}

func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseCFN decodes CloudFormation YAML into maps, slices and scalars, with
// short-form tags expanded.
func parseCFN(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	v, err := convert(doc.Content[0])
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("top level is %T, want a mapping", v)
	}
	return m, nil
}

func convert(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.AliasNode:
		return convert(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := convert(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := convert(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int":
			i, err := strconv.ParseInt(n.Value, 0, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			v = int(i)
		case "!!bool":
			v = n.Value == "true" || n.Value == "True"
		case "!!null":
			v = nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			v = f
		default:
			v = n.Value
		}
	default:
		return nil, fmt.Errorf("line %d: unexpected YAML node kind %v", n.Line, n.Kind)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	fn := strings.TrimPrefix(n.Tag, "!")
	switch fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok { // !GetAtt Resource.Attribute
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	case "Sub", "If", "Join", "Select", "Split", "Equals", "Not", "And", "Or",
		"FindInMap", "Base64", "Cidr", "GetAZs", "ImportValue", "Transform", "ToJsonString", "Length":
		return map[string]any{"Fn::" + fn: v}, nil
	}
	return nil, fmt.Errorf("line %d: unknown tag !%s", n.Line, fn)
}

// path walks nested maps by keys; it returns nil when any step is absent.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// evaluator resolves intrinsics with the template's parameter defaults (and
// overrides), so a test can ask "what does this become in a default deploy".
type evaluator struct {
	tmpl   map[string]any
	params map[string]any
}

func newEvaluator(tmpl map[string]any, overrides map[string]any) *evaluator {
	params := map[string]any{
		"AWS::Region":    "ap-east-1",
		"AWS::AccountId": "123456789012",
		"AWS::Partition": "aws",
		"AWS::StackName": "siyu",
	}
	for name, p := range asMap(tmpl["Parameters"]) {
		if d, ok := asMap(p)["Default"]; ok {
			if asMap(p)["Type"] == "CommaDelimitedList" {
				s := fmt.Sprint(d)
				if s == "" {
					params[name] = []any{}
				} else {
					var l []any
					for _, x := range strings.Split(s, ",") {
						l = append(l, x)
					}
					params[name] = l
				}
				continue
			}
			params[name] = d
		}
	}
	for k, v := range overrides {
		params[k] = v
	}
	return &evaluator{tmpl: tmpl, params: params}
}

// noValue is what AWS::NoValue evaluates to: the key or item disappears.
type noValueT struct{}

var noValue = noValueT{}

func (e *evaluator) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, item := range x {
			r, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" {
					return e.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, item := range x {
			r, err := e.eval(item)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluator) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name := fmt.Sprint(arg)
		if name == "AWS::NoValue" {
			return noValue, nil
		}
		if v, ok := e.params[name]; ok {
			return v, nil
		}
		if _, ok := asMap(e.tmpl["Resources"])[name]; ok {
			return "ref:" + name, nil
		}
		return nil, fmt.Errorf("Ref to unknown %q", name)
	case "Fn::GetAtt":
		l, _ := arg.([]any)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v: want [resource, attribute]", arg)
		}
		if _, ok := asMap(e.tmpl["Resources"])[fmt.Sprint(l[0])]; !ok {
			return nil, fmt.Errorf("Fn::GetAtt to unknown resource %v", l[0])
		}
		return fmt.Sprintf("getatt:%v.%v", l[0], l[1]), nil
	case "Fn::Sub":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub with variables map is not used here")
		}
		var b strings.Builder
		for {
			i := strings.Index(s, "${")
			if i < 0 {
				b.WriteString(s)
				break
			}
			j := strings.Index(s[i:], "}")
			if j < 0 {
				return nil, fmt.Errorf("Fn::Sub %q: unclosed ${", arg)
			}
			b.WriteString(s[:i])
			name := s[i+2 : i+j]
			var r any
			var err error
			if res, attr, ok := strings.Cut(name, "."); ok {
				r, err = e.intrinsic("Fn::GetAtt", []any{res, attr})
			} else {
				r, err = e.intrinsic("Ref", name)
			}
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub %q: %w", arg, err)
			}
			b.WriteString(fmt.Sprint(r))
			s = s[i+j+1:]
		}
		return b.String(), nil
	case "Fn::If":
		l, _ := arg.([]any)
		if len(l) != 3 {
			return nil, fmt.Errorf("Fn::If %v: want [condition, then, else]", arg)
		}
		ok, err := e.condition(fmt.Sprint(l[0]))
		if err != nil {
			return nil, err
		}
		if ok {
			return e.eval(l[1])
		}
		return e.eval(l[2])
	case "Fn::Join":
		l, _ := arg.([]any)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::Join %v", arg)
		}
		items, err := e.eval(l[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, it := range items.([]any) {
			parts = append(parts, fmt.Sprint(it))
		}
		return strings.Join(parts, fmt.Sprint(l[0])), nil
	case "Fn::Equals":
		l, _ := arg.([]any)
		if len(l) != 2 {
			return nil, fmt.Errorf("Fn::Equals %v", arg)
		}
		a, err := e.eval(l[0])
		if err != nil {
			return nil, err
		}
		b, err := e.eval(l[1])
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(a) == fmt.Sprint(b), nil
	case "Fn::Not":
		l, _ := arg.([]any)
		if len(l) != 1 {
			return nil, fmt.Errorf("Fn::Not %v", arg)
		}
		v, err := e.eval(l[0])
		if err != nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("Fn::Not of %v", v)
		}
		return !b, nil
	case "Condition":
		return e.condition(fmt.Sprint(arg))
	}
	return nil, fmt.Errorf("intrinsic %s is not evaluated by this test", fn)
}

func (e *evaluator) condition(name string) (bool, error) {
	c, ok := asMap(e.tmpl["Conditions"])[name]
	if !ok {
		return false, fmt.Errorf("unknown condition %q", name)
	}
	v, err := e.eval(c)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a boolean", name, v)
	}
	return b, nil
}
