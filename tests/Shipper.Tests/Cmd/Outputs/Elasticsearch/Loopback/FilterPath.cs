namespace Shipper.Tests.Cmd.Outputs.Elasticsearch.Loopback;

/// <summary>
/// Elasticsearch's <c>filter_path</c> response filtering: comma-separated dotted patterns, <c>*</c> matches
/// one level, <c>**</c> any number; arrays are transparent. Without a filter everything is kept.
/// </summary>
public sealed class FilterPath
{
    private readonly string[][]? _patterns;

    public FilterPath(string? filter)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return;
        }

        _patterns = filter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('.'))
            .ToArray();
    }

    public bool IsEmpty => _patterns is null;

    /// <summary>Whether the value at <paramref name="path"/> is kept entirely.</summary>
    public bool IncludesFully(string path)
    {
        if (_patterns is null)
        {
            return true;
        }

        var parts = path.Split('.');
        foreach (var pattern in _patterns)
        {
            if (MatchesPrefix(pattern, 0, parts, 0, full: true))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether something at or below <paramref name="path"/> may be kept (so the object must be walked).</summary>
    public bool MayInclude(string path)
    {
        if (_patterns is null)
        {
            return true;
        }

        var parts = path.Split('.');
        foreach (var pattern in _patterns)
        {
            if (MatchesPrefix(pattern, 0, parts, 0, full: false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// full: the pattern is used up by the path (the path is at or below a matched pattern).
    /// partial: the path is a prefix of what the pattern could match.
    /// </summary>
    private static bool MatchesPrefix(string[] pattern, int pi, string[] path, int si, bool full)
    {
        if (pi == pattern.Length)
        {
            return true;
        }

        if (si == path.Length)
        {
            return !full;
        }

        if (pattern[pi] == "**")
        {
            return MatchesPrefix(pattern, pi + 1, path, si, full) || MatchesPrefix(pattern, pi, path, si + 1, full);
        }

        return Glob(pattern[pi], path[si]) && MatchesPrefix(pattern, pi + 1, path, si + 1, full);
    }

    private static bool Glob(string pattern, string value)
    {
        if (pattern == "*")
        {
            return true;
        }

        if (!pattern.Contains('*'))
        {
            return pattern == value;
        }

        var star = pattern.IndexOf('*');
        return value.StartsWith(pattern[..star], StringComparison.Ordinal) && value.EndsWith(pattern[(star + 1)..], StringComparison.Ordinal);
    }
}
