namespace Shipper.Watchdog;

/// <summary>What to do after a worker ended: wait <see cref="Delay"/> and start a new one, or give up.</summary>
public readonly record struct RespawnDecision(bool GiveUp, TimeSpan Delay, TimeSpan Uptime, bool QuickDeath, int QuickDeaths);
