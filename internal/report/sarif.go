package report

import (
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/fencecheck/fencecheck/internal/diag"
	"github.com/fencecheck/fencecheck/internal/rules"
)

// SARIF 2.1.0, the subset GitHub code scanning reads: tool.driver.rules with
// help text, results with a physical location, partialFingerprints, and the
// deadlock chain as a codeFlow (GitHub renders codeFlows step by step).

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string     `json:"id"`
	Name                 string     `json:"name"`
	ShortDescription     sarifText  `json:"shortDescription"`
	FullDescription      sarifText  `json:"fullDescription"`
	Help                 sarifText  `json:"help"`
	HelpURI              string     `json:"helpUri"`
	DefaultConfiguration sarifLevel `json:"defaultConfiguration"`
}

type sarifLevel struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	BaselineState       string            `json:"baselineState,omitempty"`
	CodeFlows           []sarifCodeFlow   `json:"codeFlows,omitempty"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations,omitempty"`
}

type sarifLocation struct {
	ID               int           `json:"id,omitempty"`
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifText    `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
}

type sarifCodeFlow struct {
	Message     sarifText         `json:"message"`
	ThreadFlows []sarifThreadFlow `json:"threadFlows"`
}

type sarifThreadFlow struct {
	Locations []sarifTFLocation `json:"locations"`
}

type sarifTFLocation struct {
	Location sarifLocation `json:"location"`
}

func sarifLevelOf(s diag.Severity) string {
	switch s {
	case diag.Warning:
		return "warning"
	case diag.Note:
		return "note"
	}
	return "error"
}

// sarifURI turns a path into a relative URI reference.
func sarifURI(p string) string {
	if p == "-" || p == "" {
		return "stdin"
	}
	u := url.URL{Path: filepath.ToSlash(filepath.Clean(p))}
	return strings.TrimPrefix(u.String(), "./")
}

func loc(file string, p diag.Pos, msg string) sarifLocation {
	l := sarifLocation{PhysicalLocation: sarifPhysical{
		ArtifactLocation: sarifArtifact{URI: sarifURI(file)},
		Region:           sarifRegion{StartLine: max(p.Line, 1), StartColumn: max(p.Col, 1)},
	}}
	if msg != "" {
		l.Message = &sarifText{Text: msg}
	}
	return l
}

// RulesURL is where each rule is documented; SARIF viewers link every
// result's rule to its section (the anchor is the lower-cased rule ID).
const RulesURL = "https://github.com/fencecheck/fencecheck/blob/main/docs/rules.md"

// FingerprintKey names fencecheck's fingerprint in SARIF partialFingerprints
// (versioned, so a future change of the scheme cannot match old results).
const FingerprintKey = "fencecheck/v1"

func writeSARIF(w io.Writer, results []FileResult, opt Options) error {
	all := rules.All()
	index := map[string]int{}
	driver := sarifDriver{Name: "fencecheck", Version: opt.Version,
		InformationURI: RulesURL}
	for i, r := range all {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, sarifRule{
			ID: r.ID, Name: r.Name,
			ShortDescription:     sarifText{Text: r.Summary},
			FullDescription:      sarifText{Text: r.Doc},
			Help:                 sarifText{Text: r.Doc + "\n\nFix: " + r.Fix},
			HelpURI:              RulesURL + "#" + strings.ToLower(r.ID),
			DefaultConfiguration: sarifLevel{Level: sarifLevelOf(r.Severity)},
		})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, r := range results {
		for _, d := range r.Diags {
			fp := Fingerprint(d)
			d = clean(d)
			msg := d.Message
			if len(d.Cycle) > 0 {
				msg += " Chain: " + strings.Join(append(append([]string{}, d.Cycle...), d.Cycle[0]), " --> ") + "."
			}
			if d.Hint != "" {
				msg += " Fix: " + d.Hint
			}
			res := sarifResult{
				RuleID: d.Rule, RuleIndex: index[d.Rule], Level: sarifLevelOf(d.Severity),
				Message:   sarifText{Text: msg},
				Locations: []sarifLocation{loc(d.File, d.Pos, "")},
				// A key of our own: primaryLocationLineHash is GitHub's, computed
				// by the upload action from the source line.
				PartialFingerprints: map[string]string{FingerprintKey: fp},
			}
			if opt.Baseline != nil {
				// Findings the baseline accepted are not reported at all;
				// every result left is new relative to it.
				res.BaselineState = "new"
			}
			for i, r := range d.Related {
				l := loc(r.File, r.Pos, "consequence: "+r.Message+" ["+r.Rule+"]")
				l.ID = i + 1
				res.RelatedLocations = append(res.RelatedLocations, l)
			}
			if len(d.Chain) > 0 {
				var tf sarifThreadFlow
				for _, st := range d.Chain {
					tf.Locations = append(tf.Locations, sarifTFLocation{Location: loc(st.File, st.Pos, sarifStepText(st))})
				}
				res.CodeFlows = []sarifCodeFlow{{Message: sarifText{Text: d.Message}, ThreadFlows: []sarifThreadFlow{tf}}}
			}
			run.Results = append(run.Results, res)
		}
	}
	return encodeJSON(w, sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// sarifStepText is a code-flow step's message; a built-in step (no line
// of the design made it) names its kernel fact, since its location can
// only point at the file.
func sarifStepText(st diag.Step) string {
	if st.Builtin != "" {
		return st.Message + " [" + st.Builtin + "]"
	}
	return st.Message
}
