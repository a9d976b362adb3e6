package platform

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// LoadEnv fills a T from the environment with caarlos0/env, using the `env`
// and `envDefault` tags. Its errors name the environment variable at fault
// (the library's own name the Go field).
func LoadEnv[T any]() (T, error) {
	v, err := env.ParseAs[T]()
	if err == nil {
		return v, nil
	}
	tags := EnvVars(reflect.TypeFor[T]())
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return v, err
	}
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			name := tags[pe.Name]
			if name == "" {
				name = pe.Name
			}
			errs = append(errs, fmt.Errorf("%s: cannot parse as %s: %w", name, pe.Type, pe.Err))
			continue
		}
		errs = append(errs, e)
	}
	return v, errors.Join(errs...)
}

// EnvVars maps each field of a config struct that reads the environment,
// nested structs included, to its variable's name.
func EnvVars(t reflect.Type) map[string]string {
	into := map[string]string{}
	walkEnv(t, func(f reflect.StructField, name string) { into[f.Name] = name })
	return into
}

// walkEnv calls fn, in declaration order, for each field of the struct type
// t that reads a variable, descending into nested structs the way
// caarlos0/env does: a struct field without an env tag is walked.
func walkEnv(t reflect.Type, fn func(f reflect.StructField, name string)) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := f.Tag.Get("env"); tag != "" {
			name, _, _ := strings.Cut(tag, ",") // options such as ",required" follow the name
			fn(f, name)
		} else if f.Type.Kind() == reflect.Struct {
			walkEnv(f.Type, fn)
		}
	}
}

// Checks collects what is wrong with a configuration, each error naming
// its variable.
type Checks struct{ errs []error }

// Check records "NAME rule" unless ok.
func (c *Checks) Check(ok bool, name, rule string) {
	if !ok {
		c.errs = append(c.errs, fmt.Errorf("%s %s", name, rule))
	}
}

// Add records errors that already name their variable.
func (c *Checks) Add(errs ...error) {
	for _, err := range errs {
		if err != nil {
			c.errs = append(c.errs, err)
		}
	}
}

// Err joins what was recorded; nil when every check passed.
func (c *Checks) Err() error { return errors.Join(c.errs...) }

// LoadConfig reads a T from the environment (LoadEnv) and runs validate on
// it; any error, parsing or range, names its variable.
func LoadConfig[T any](validate func(*T, *Checks)) (T, error) {
	cfg, err := LoadEnv[T]()
	if err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	var c Checks
	validate(&cfg, &c)
	if err := c.Err(); err != nil {
		return cfg, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}
