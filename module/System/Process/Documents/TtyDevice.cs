namespace Shipper.Module.System.Process.Documents;

/// <summary>The controlling terminal from <c>stat</c>'s <c>tty_nr</c> (a kernel dev_t in the old encoding).</summary>
public readonly record struct TtyDevice(int Major, int Minor)
{
    public static TtyDevice FromTtyNr(int ttyNr) =>
        new((ttyNr >> 8) & 0xfff, (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00));

    public bool Exists => Major != 0 || Minor != 0;

    /// <summary>
    /// Auditbeat's rule (helper/tty): interactive when the terminal is a pseudo-terminal (majors 136–143) or a
    /// console/virtual terminal (major 4, minors 0–255).
    /// </summary>
    public bool IsInteractive => (Major >= 136 && Major <= 143) || (Major == 4 && Minor <= 255);
}
