package layers

// MergePatch applies an RFC 7396 JSON merge patch to target and returns the
// result: members of an object patch replace the target's, null members
// remove them, and any patch that is not an object replaces the target
// whole. Neither argument is changed; the result shares no maps or slices
// with them.
func MergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return cloneAny(patch)
	}
	t, ok := target.(map[string]any)
	out := make(map[string]any, len(t)+len(p))
	if ok {
		for k, v := range t {
			out[k] = cloneAny(v)
		}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}
