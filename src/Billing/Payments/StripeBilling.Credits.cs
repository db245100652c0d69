using global::Stripe;

namespace Lanes.Billing.Payments;

public sealed partial class StripeBilling
{
    /// <summary>
    /// Moves money onto (a positive <paramref name="creditUsd"/>) or off (negative) the customer's Stripe balance, which
    /// Stripe applies to the next invoice: how a service credit reaches a Stripe customer. Stripe counts a credit as
    /// a negative balance transaction. The idempotency key is the caller's, made from the credit it pays, so a retry
    /// after a crash finds the first transaction instead of crediting twice.
    /// </summary>
    /// <returns>The balance transaction's id.</returns>
    public async Task<string> CreditBalanceAsync(
        string customerId, decimal creditUsd, string description, string idempotencyKey, Dictionary<string, string> metadata, CancellationToken ct = default)
    {
        var transaction = await new CustomerBalanceTransactionService(stripe).CreateAsync(
            customerId,
            new CustomerBalanceTransactionCreateOptions
            {
                Amount = -(long)Math.Round(creditUsd * 100m, MidpointRounding.AwayFromZero),
                Currency = "usd",
                Description = description,
                Metadata = metadata,
            },
            new RequestOptions { IdempotencyKey = idempotencyKey },
            ct);
        return transaction.Id;
    }
}
