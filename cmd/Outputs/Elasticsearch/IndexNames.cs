namespace Shipper.Outputs.Elasticsearch;

/// <summary>Elasticsearch's rules for index and data stream names, checked before anything is sent.</summary>
public static class IndexNames
{
    private const string Forbidden = "\\/*?\"<>| ,#:";

    /// <summary>Null when <paramref name="name"/> is a valid index name, else what is wrong with it.</summary>
    public static string? Check(string name)
    {
        if (name.Length == 0)
        {
            return "an index name must not be empty";
        }

        if (name is "." or "..")
        {
            return $"'{name}' is not a valid index name";
        }

        if (name[0] is '-' or '_' or '+')
        {
            return $"index name '{name}' must not start with '-', '_' or '+'";
        }

        foreach (var c in name)
        {
            if (Forbidden.Contains(c))
            {
                return $"index name '{name}' must not contain '{c}' (forbidden: \\ / * ? \" < > | space , # :)";
            }

            if (char.IsUpper(c))
            {
                return $"index name '{name}' must be lowercase";
            }
        }

        if (System.Text.Encoding.UTF8.GetByteCount(name) > 255)
        {
            return $"index name '{name}' is longer than 255 bytes";
        }

        return null;
    }
}
