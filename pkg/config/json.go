package config

import (
	"bytes"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// MarshalJSON prints the normalized model: field names as keepalived's
// keywords, durations as strings ("1s", "1.5s"), addresses and prefixes as
// text, enums by name, positions as "file:line", byte payloads as hex.
func (c *Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := encodeValue(&b, reflect.ValueOf(*c)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// JSON is MarshalJSON, indented.
func (c *Config) JSON() ([]byte, error) {
	raw, err := c.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

var (
	durationType      = reflect.TypeFor[time.Duration]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func encodeValue(b *bytes.Buffer, v reflect.Value) error {
	t := v.Type()
	switch {
	case t == durationType:
		return writeJSON(b, time.Duration(v.Int()).String())
	case t.Implements(textMarshalerType):
		if t.Kind() == reflect.Pointer && v.IsNil() {
			b.WriteString("null")
			return nil
		}
		text, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return fmt.Errorf("marshal %s: %w", t, err)
		}
		return writeJSON(b, string(text))
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
			return nil
		}
		return encodeValue(b, v.Elem())
	case reflect.Struct:
		b.WriteByte('{')
		first := true
		if err := encodeFields(b, v, &first); err != nil {
			return err
		}
		b.WriteByte('}')
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return writeJSON(b, hex.EncodeToString(v.Bytes()))
		}
		fallthrough
	case reflect.Array:
		b.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeValue(b, v.Index(i)); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, k.String()); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := encodeValue(b, v.MapIndex(k)); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	}
	return writeJSON(b, v.Interface())
}

// encodeFields writes a struct's exported fields in declaration order,
// flattening embedded exported structs and honouring json tags (name,
// omitempty, omitzero, "-").
func encodeFields(b *bytes.Buffer, v reflect.Value, first *bool) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && f.Type.Kind() == reflect.Struct && name == "" {
			if err := encodeFields(b, fv, first); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") && isEmpty(fv) || strings.Contains(opts, "omitzero") && fv.IsZero() {
			continue
		}
		if !*first {
			b.WriteByte(',')
		}
		*first = false
		if err := writeJSON(b, name); err != nil {
			return err
		}
		b.WriteByte(':')
		if fv.Kind() == reflect.Slice && fv.IsNil() {
			b.WriteString("[]")
			continue
		}
		if err := encodeValue(b, fv); err != nil {
			return err
		}
	}
	return nil
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

func writeJSON(b *bytes.Buffer, x any) error {
	raw, err := json.Marshal(x)
	if err != nil {
		return err
	}
	b.Write(raw)
	return nil
}
