using Shipper.Module.System.Process.Tracking;

namespace Shipper.Module.System.Process.Documents;

/// <summary>
/// <c>event.action</c>, <c>event.type</c> and the message verb for a set of folded events, as Auditbeat's quark
/// provider computes them: a snapshot is <c>existing_process</c>; fork with exit <c>process_ran</c>; fork
/// <c>process_started</c>; exit <c>process_stopped</c>; exec <c>process_changed_image</c>. The types list
/// every folded event in the order snapshot (info), fork (start), exec (change), exit (end).
/// </summary>
public sealed class ProcessAction
{
    public static readonly string[] Categories = { "process" };

    private static readonly ProcessAction[] ByEvents = Build();

    private ProcessAction(string name, string verb, string[] types)
    {
        Name = name;
        Verb = verb;
        Types = types;
    }

    public string Name { get; }

    /// <summary>The message verb, e.g. <c>STARTED</c> or <c>is RUNNING</c>.</summary>
    public string Verb { get; }

    public string[] Types { get; }

    public static ProcessAction For(ProcessEvents events) => ByEvents[(int)events & 0xf];

    private static ProcessAction[] Build()
    {
        var table = new ProcessAction[16];
        for (var i = 0; i < table.Length; i++)
        {
            var events = (ProcessEvents)i;
            var snapshot = (events & ProcessEvents.Snapshot) != 0;
            var fork = (events & ProcessEvents.Fork) != 0;
            var exec = (events & ProcessEvents.Exec) != 0;
            var exit = (events & ProcessEvents.Exit) != 0;
            var (name, verb) = snapshot ? ("existing_process", "is RUNNING")
                : fork && exit ? ("process_ran", "RAN")
                : fork ? ("process_started", "STARTED")
                : exit ? ("process_stopped", "STOPPED")
                : exec ? ("process_changed_image", "CHANGED IMAGE")
                : ("process_error", "ERROR");
            var types = new List<string>(4);
            if (snapshot)
            {
                types.Add("info");
            }

            if (fork)
            {
                types.Add("start");
            }

            if (exec)
            {
                types.Add("change");
            }

            if (exit)
            {
                types.Add("end");
            }

            if (types.Count == 0)
            {
                types.Add("info");
            }

            table[i] = new ProcessAction(name, verb, types.ToArray());
        }

        return table;
    }
}
