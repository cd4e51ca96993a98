package api

import (
	"maps"
	"net/netip"
	"slices"
)

// Rules are the settings of a cluster that whole-repository validation depends on, so that a
// commit the cluster could not honour is refused whole, with a line, rather than applied and
// left failing. The zero Rules hold the defaults; LoadSet, JoinFiles and ValidateSet use them.
type Rules struct {
	// ServiceCIDR holds the Services' virtual IPs (up's --service-cidr): an explicit clusterIP
	// outside it, or its network or broadcast address, is refused. The zero Prefix means
	// DefaultServiceCIDR.
	ServiceCIDR netip.Prefix
}

// serviceCIDR is r's service CIDR, defaulted.
func (r Rules) serviceCIDR() netip.Prefix {
	if r.ServiceCIDR.IsValid() {
		return r.ServiceCIDR.Masked()
	}
	return netip.MustParsePrefix(DefaultServiceCIDR)
}

// LoadSet decodes, defaults and validates a whole repository of manifests, given as file name
// to content. Files without a manifest extension are ignored. Files are read in name order, so
// the objects come out in a stable order; the errors, all of them, are sorted by file and line.
// Any error means the set must not be applied; the objects are returned for reporting only.
func (r Rules) LoadSet(files map[string][]byte) ([]Decoded, []FieldError) {
	var loaded []LoadedFile
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if IsManifestFile(name) {
			loaded = append(loaded, LoadFile(name, files[name]))
		}
	}
	return r.JoinFiles(loaded)
}

// JoinFiles finishes LoadSet from the LoadFile results of every manifest file of a repository,
// given in name order: it returns their objects in that order and all their errors with those
// of ValidateSet, sorted. It neither changes nor keeps files, so results may be reused.
func (r Rules) JoinFiles(files []LoadedFile) ([]Decoded, []FieldError) {
	var all []Decoded
	var errs []FieldError
	for _, f := range files {
		errs = append(errs, f.Errors...)
		all = append(all, f.Objects...)
	}
	errs = append(errs, r.ValidateSet(all)...)
	SortErrors(errs)
	return all, errs
}

// ValidateSet checks what no single object can: that each kind/namespace/name is declared once
// in the whole repository (the error sits on the later declaration and names the earlier one);
// that each object outside the default namespace has its Namespace declared; and that each
// ConfigMap a Pod or Deployment needs (one not marked optional) is declared in its namespace
// with the keys it reads; and that a Pod or Deployment that uses host access is in a Namespace
// declared privileged (HostAccess); and that no two Services claim one clusterIP or node port,
// and that each explicit clusterIP lies in the service CIDR. Each error sits on the field that
// needs what is missing.
func (r Rules) ValidateSet(all []Decoded) []FieldError {
	index, errs := indexSet(all)
	errs = append(errs, checkServiceClaims(all, r.serviceCIDR())...)
	for _, d := range all {
		errs = append(errs, checkNamespace(d, index)...)
		errs = append(errs, checkConfigMapRefs(d, index)...)
		errs = append(errs, checkHostAccess(d, index)...)
	}
	return errs
}

// LoadSet is Rules.LoadSet with the default rules.
func LoadSet(files map[string][]byte) ([]Decoded, []FieldError) { return Rules{}.LoadSet(files) }

// JoinFiles is Rules.JoinFiles with the default rules.
func JoinFiles(files []LoadedFile) ([]Decoded, []FieldError) { return Rules{}.JoinFiles(files) }

// ValidateSet is Rules.ValidateSet with the default rules.
func ValidateSet(all []Decoded) []FieldError { return Rules{}.ValidateSet(all) }
