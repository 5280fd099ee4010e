package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// dataFile is the one data document a policy directory may hold, loaded at
// the root of data as `opa test DIR` loads it.
const dataFile = "data.json"

// bundle is a policy directory read from disk: parsed modules keyed by their
// path relative to the directory (coverage reports and error locations use
// it), the data document, and the content hash that names the version.
type bundle struct {
	dir     string
	modules map[string]*ast.Module
	data    map[string]any
	dataSrc []byte // data.json as read, for errors that name a line
	version string
}

// readBundle reads every *.rego file under dir (hidden entries skipped) and
// the optional top-level data.json. Any other data file is refused: `opa
// test` would load it and the engine would not, and the two must agree.
func readBundle(dir string) (*bundle, error) {
	b := &bundle{dir: dir, modules: map[string]*ast.Module{}, data: map[string]any{}}
	type file struct {
		rel string
		src []byte
	}
	var files []file
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch ext := filepath.Ext(name); {
		case ext == ".rego":
		case rel == dataFile:
		case ext == ".json" || ext == ".yaml" || ext == ".yml":
			return fmt.Errorf("%s: only %s at the top of the policy directory is loaded as data", rel, dataFile)
		default:
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, file{rel, src})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.rel, b.rel) })

	h := sha256.New()
	var errs []error
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.rel, len(f.src))
		h.Write(f.src)
		if f.rel == dataFile {
			b.dataSrc = f.src
			if err := decodeData(f.src, &b.data); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.rel, err))
			}
			continue
		}
		m, err := ast.ParseModuleWithOpts(f.rel, string(f.src), ast.ParserOptions{
			RegoVersion:       ast.RegoV1,
			ProcessAnnotation: true,
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.modules[f.rel] = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(b.modules) == 0 {
		return nil, fmt.Errorf("%s: no .rego files", dir)
	}
	b.version = hex.EncodeToString(h.Sum(nil))[:12]
	return b, nil
}

// decodeData reads a JSON object keeping numbers exact.
func decodeData(src []byte, into *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	if *into == nil {
		*into = map[string]any{}
	}
	return nil
}

// store returns a fresh in-memory store holding the bundle's data.
func (b *bundle) store() storage.Store {
	return inmem.NewFromObjectWithOpts(b.data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
}

// compile compiles the bundle's modules into one compiler that every
// prepared query of the version shares.
func (b *bundle) compile() (*ast.Compiler, error) {
	c := ast.NewCompiler().
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(false)
	c.Compile(b.modules)
	if c.Failed() {
		return nil, c.Errors
	}
	return c, nil
}
