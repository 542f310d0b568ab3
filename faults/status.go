package faults

import (
	"fmt"
	"strconv"
)

// Status answers with HTTP status Code instead of the object. On the
// network (objserver) the response carries that status and a short error
// body, on every request the rule matches, HEAD included, so a retrying
// client meets it on every attempt. For a CLI (fakecli) it stands for
// what a storage CLI does once it gave up on that status: it writes
// nothing and exits 1. Code is 400..599.
//
//	faults.Status{Code: 503} // "status"
//	faults.Status{Code: 500} // "status code=500"
//
// Spec key: code=N, default 503. A zero Status is not valid; set Code.
type Status struct {
	Code int
}

// DefaultStatus is the Code of a status rule without code=: 503, what S3
// answers when it wants a client to slow down and retry.
const DefaultStatus = 503

// Kind returns "status".
func (Status) Kind() string { return "status" }

// String gives s in canonical spec text: "status code=500".
func (s Status) String() string {
	if s.Code == DefaultStatus {
		return "status"
	}
	return "status code=" + strconv.Itoa(s.Code)
}

// Script writes nothing and exits 1: what a CLI does once it gave up on
// s.Code.
func (s Status) Script(data []byte) (Script, error) {
	if s.Code < 400 || s.Code > 599 {
		return Script{}, fmt.Errorf("%s: HTTP status %d out of range 400..599", s, s.Code)
	}
	return Script{Exit: 1}, nil
}

func decodeStatus(a *args) (Fault, error) {
	s := Status{Code: DefaultStatus}
	if w, ok := a.get("code"); ok {
		var err error
		if s.Code, err = a.integer(w, "HTTP status", 400, 599); err != nil {
			return nil, err
		}
	}
	return s, nil
}
