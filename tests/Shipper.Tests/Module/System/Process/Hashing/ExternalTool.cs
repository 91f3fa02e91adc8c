using global::System.Diagnostics;

namespace Shipper.Tests.Module.System.Process.Hashing;

/// <summary>Runs a real command-line tool (sha1sum, openssl, b2sum, …) and returns its first output word.</summary>
internal static class ExternalTool
{
    public static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = global::System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {error}");
        return output;
    }

    /// <summary>The digest a coreutils/openssl style tool prints first on its line.</summary>
    public static string Digest(string file, params string[] args) =>
        Run(file, args).Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries)[0];
}
