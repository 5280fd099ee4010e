package caddymodule

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// configPackages hold the structs of the module's JSON configuration.
var configPackages = []string{".", "../portalconfig", "../membersconfig", "../examples/identity-header"}

// TestEveryJSONFieldIsDocumented: Caddy's documentation of a module is
// the doc comment on each field of its configuration structs, so every
// field with a JSON name carries its own (a comment shared by the fields
// below it, or one at the end of the line, is not shown for them).
func TestEveryJSONFieldIsDocumented(t *testing.T) {
	fields := 0
	for _, dir := range configPackages {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, fd := range st.Fields.List {
					if fd.Tag == nil {
						continue
					}
					tag, _ := reflect.StructTag(strings.Trim(fd.Tag.Value, "`")).Lookup("json")
					if name, _, _ := strings.Cut(tag, ","); name == "" || name == "-" {
						continue
					}
					fields++
					if fd.Doc == nil || len(fd.Names) != 1 {
						t.Errorf("%s: %s.%s (json %q) has no doc comment of its own", file, ts.Name.Name, fieldName(fd), tag)
					}
				}
				return true
			})
		}
	}
	if fields == 0 {
		t.Fatal("no JSON field found")
	}
}

func fieldName(fd *ast.Field) string {
	if len(fd.Names) == 0 {
		return "(embedded)"
	}
	return fd.Names[0].Name
}
