package caddymodule

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/kintone"
)

// exported are the package's exported types and variables, by name: the
// roots of the surface an outside Caddy module (another identity source)
// or a program writing kgate's configuration sees.
var exported = map[string]reflect.Type{
	"Handler":        reflect.TypeFor[*Handler](),
	"App":            reflect.TypeFor[*App](),
	"Claims":         reflect.TypeFor[*Claims](),
	"Kintone":        reflect.TypeFor[*Kintone](),
	"Limits":         reflect.TypeFor[*Limits](),
	"Members":        reflect.TypeFor[*Members](),
	"OIDC":           reflect.TypeFor[*OIDC](),
	"Policy":         reflect.TypeFor[*Policy](),
	"SharedQuota":    reflect.TypeFor[*SharedQuota](),
	"IdentitySource": reflect.TypeFor[IdentitySource](),
	"AuditApp":       reflect.TypeFor[*AuditApp](),
	"Mail":           reflect.TypeFor[*Mail](),
	"Notify":         reflect.TypeFor[*Notify](),
	"ErrNoIdentity":  reflect.TypeOf(ErrNoIdentity),
}

const module = "github.com/kgate/kgate"

// TestExportedNamesAreAllChecked keeps the list above complete: an
// exported name added to the package without being added there would
// escape the check below.
func TestExportedNamesAreAllChecked(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						names = append(names, s.Name.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names = append(names, n.Name)
						}
					}
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("no declarations parsed")
	}
	for _, n := range names {
		if _, ok := exported[n]; ast.IsExported(n) && !ok {
			t.Errorf("exported %s is not in surface_test.go's list: add it, so its fields and methods are checked", n)
		}
	}
	for n := range exported {
		if !slices.Contains(names, n) {
			t.Errorf("%s is listed in surface_test.go but not declared", n)
		}
	}
}

// TestExportedAPIReachesNoInternalPackage: the module's configuration and
// interfaces must be usable from outside kgate's module, where internal/
// packages cannot be imported. Every exported field, method and parameter
// reachable from the exported names is followed through kgate's own
// packages; none may have an internal/ type.
func TestExportedAPIReachesNoInternalPackage(t *testing.T) {
	seen := map[reflect.Type]bool{}
	for name, root := range exported {
		for _, bad := range reachesInternal(root, name, seen) {
			t.Error(bad)
		}
	}
}

// reachesInternal walks t and returns the paths at which a type of an
// internal/ package appears. Types outside kgate's module (Caddy's, the
// standard library's) are not walked.
func reachesInternal(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	if seen[t] {
		return nil
	}
	seen[t] = true
	named := t // a pointer's methods are its element's
	if t.Kind() == reflect.Pointer {
		named = t.Elem()
	}
	if pkg := named.PkgPath(); pkg != "" {
		if strings.HasPrefix(pkg, module+"/") && strings.Contains(pkg+"/", "/internal/") {
			return []string{path + " is " + t.String() + " of " + pkg}
		}
		if pkg != module && !strings.HasPrefix(pkg, module+"/") {
			return nil
		}
	}
	var bad []string
	walk := func(u reflect.Type, p string) { bad = append(bad, reachesInternal(u, p, seen)...) }
	for i := range t.NumMethod() { // exported methods only
		m := t.Method(i)
		walk(m.Type, path+"."+m.Name)
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
		walk(t.Elem(), path)
	case reflect.Map:
		walk(t.Key(), path+"[key]")
		walk(t.Elem(), path+"[]")
	case reflect.Func:
		for i := range t.NumIn() {
			walk(t.In(i), path+"(in)")
		}
		for i := range t.NumOut() {
			walk(t.Out(i), path+"(out)")
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				walk(f.Type, path+"."+f.Name)
			}
		}
	}
	return bad
}

// TestSurfaceCheckFindsInternalTypes makes sure the walk above can fail:
// a struct holding an internal type, however deep, is reported.
func TestSurfaceCheckFindsInternalTypes(t *testing.T) {
	type deep struct {
		Handler *Handler
		Hook    map[string][]func(*App) (*kintone.Client, error)
	}
	type surface struct {
		Deep   deep
		hidden *kintone.Client // unexported: not part of the surface
	}
	bad := reachesInternal(reflect.TypeFor[surface](), "surface", map[reflect.Type]bool{})
	if len(bad) != 1 || !strings.Contains(bad[0], "surface.Deep.Hook[](out)") || !strings.Contains(bad[0], "internal/kintone") {
		t.Errorf("found %q, want surface.Deep.Hook's result only", bad)
	}
}
