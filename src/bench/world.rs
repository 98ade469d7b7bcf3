//! `aima bench world`: the simulated world of a seed exported as CSV.

use anyhow::Result;

use crate::cli::BenchWorldArgs;

/// Generates the world and writes its files.
pub fn run(args: &BenchWorldArgs) -> Result<()> {
    let world = aima_evals::world::World::generate(aima_evals::world::WorldConfig {
        seed: args.seed,
        customers: args.customers,
    })?;
    let files = aima_evals::export::export(&world, &args.export)?;
    let alive = world.customers.iter().filter(|c| c.truth.alive).count();
    outln!(
        "world seed {}: {} customers ({} alive at {}), {} orders, {} events, {} reviews, {} campaigns",
        args.seed,
        world.customers.len(),
        alive,
        world.today,
        world.orders.len(),
        world.events.len(),
        world.reviews.len(),
        world.campaigns.len()
    )?;
    for f in files {
        outln!("  {}", f.display())?;
    }
    Ok(())
}
