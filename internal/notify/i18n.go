package notify

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// langs are the languages kgate writes e-mail in.
var langs = []string{"ja", "en"}

//go:embed messages
var messagesFS embed.FS

// catalogs holds each language's texts; {1}, {2}, … are the arguments.
var catalogs = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, lang := range langs {
		b, err := messagesFS.ReadFile("messages/" + lang + ".json")
		if err != nil {
			panic(err)
		}
		var cat map[string]string
		if err := json.Unmarshal(b, &cat); err != nil {
			panic(fmt.Sprintf("notify: messages/%s.json: %v", lang, err))
		}
		out[lang] = cat
	}
	return out
}()

// text returns the message key in lang with its placeholders filled.
func text(lang, key string, args ...any) string {
	s, ok := catalogs[lang][key]
	if !ok {
		return key // a test keeps every key in every catalogue
	}
	for i, a := range args {
		s = strings.ReplaceAll(s, "{"+strconv.Itoa(i+1)+"}", fmt.Sprint(a))
	}
	return s
}

// langOf is lang when kgate writes e-mail in it, else def.
func langOf(lang, def string) string {
	if _, ok := catalogs[lang]; ok {
		return lang
	}
	return def
}
